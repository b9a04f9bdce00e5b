"""Password validators whose messages are Chinese. Django 5.2's zh_Hans catalogue lacks the new wording of the
minimum-length message, so it would show in English in the middle of a Chinese form."""
from django.contrib.auth import password_validation


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self):
        return f"密码太短，至少需要 {self.min_length} 个字符。"

    def get_help_text(self):
        return f"密码至少需要 {self.min_length} 个字符。"
