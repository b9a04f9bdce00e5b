"""The audit log's action codes in the words an oversight officer reads. A test checks that every action the code
writes has its label here."""

ACTION_LABELS = {
    "auth.login": "登录", "auth.login_failed": "登录失败", "auth.login_locked": "锁定期间尝试登录",
    "auth.logout": "退出登录", "auth.timeout": "超时自动退出", "auth.password_change": "修改密码",
    "auth.token_issue": "签发 API 令牌", "auth.token_revoke": "注销 API 令牌",
    "staff.create": "新增工作人员", "staff.active": "停用/启用账号", "staff.minor_access": "未成年人档案查阅授权",
    "staff.unlock": "解除登录锁定", "staff.password_reset": "重置密码",
    "org.create": "新增机构",
    "supervisee.create": "新增社区矫正对象", "supervisee.update": "修改档案", "supervisee.view": "查阅档案",
    "supervisee.photo": "更新照片", "supervisee.contact_add": "添加家庭成员/联系人",
    "supervisee.team_add": "矫正小组增加成员", "supervisee.team_remove": "矫正小组移除成员",
    "supervisee.import": "批量导入", "supervisee.id_lookup": "身份证号查重命中",
    "supervisee.sealed_refused": "试图打开封存档案（已拒绝）",
    "supervisee.export": "导出名单", "supervisee.export_requested": "申请导出（后台生成）",
    "supervisee.export_download": "下载导出文件", "supervisee.readmit": "再次纳入社区矫正",
    "supervisee.team_archive": "矫正小组随原案件存档", "supervisee.transfer": "执行地变更",
    "audit.view": "查阅审计日志", "audit.export": "导出审计日志",
    "seed.demo": "生成演示数据",
    "case.open": "建立案件", "case.transition": "案件办理", "case.sync": "案件随档案更新",
    "case.release_due": "开启期满事项", "task.overdue": "期限逾期提醒", "task.view": "查看待办",
    "calendar.load": "导入节假日安排", "deadline.setting": "调整期限", "case.file": "查阅执法档案",
    "document.issue": "制发文书", "document.view": "查阅文书",
    "investigation.create": "受理调查评估委托", "investigation.transition": "调查评估办理",
    "investigation.view": "查阅调查评估", "transfer.view": "查阅执行地变更",
    "supervision.record": "登记日常监管记录", "supervision.review": "批阅思想汇报", "supervision.correct": "更正监管记录",
    "supervision.activity": "组织教育学习、公益活动", "supervision.hours": "登记教育学习、社区服务时长",
    "supervision.missed": "未按规定报到", "supervision.four_ones": "严管“四个一”未完成",
    "supervision.setting": "设置本省监管规则", "supervision.hours_short": "教育学习、社区服务时长不足",
    "supervision.health_missing": "未按月报告病情", "supervision.check_missing": "未按期提交病情复查情况",
    "supervision.fact_withdrawn": "撤销未完成事项记录", "request.expire": "批准期满办结", "request.attach": "附证明材料", "request.filed": "外出备案", "request.attachment": "查阅证明材料", "supervision.prohibition": "登记禁止令", "supervision.day": "查阅日常监管日视图",
    "supervision.month": "查阅日常监管月视图", "supervision.schedule": "查阅监管要求",
    "request.apply": "登记申请", "request.approve": "批准申请", "request.refuse": "不予批准",
    "request.withdraw": "撤回申请", "request.depart": "登记离开", "request.arrive": "登记到达报告",
    "request.return": "销假", "request.cancel": "未成行办结", "request.close": "申请办结",
    "request.overdue": "外出逾期未归", "request.view": "查阅申请", "request.list": "查阅待审批申请",
    "notice.sent": "发送通知", "notice.view": "阅知通知",
    "supervision.confirm": "人工核验确认报到",
    "face.enrol": "登记人脸", "verification.upload": "手机端人脸核验", "verification.review": "复核人脸核验",
    "verification.report": "生成核查报告", "spot_check.issue": "发起点对点核查", "spot_check.dispose": "处置核查异常",
    "spot_check.missed": "核查未答复", "spot_check.draw": "生成随机核查",
    "portal.code": "发放手机端登录码", "portal.device": "手机绑定审批、解绑", "portal.message": "向手机端发送消息",
    "portal.login": "手机端登录", "portal.login_failed": "手机端登录失败", "portal.login_locked": "锁定期间尝试登录手机端",
    "portal.logout": "退出手机端", "portal.message_read": "手机端阅读消息",
}

OBJECT_LABELS = {"supervisee": "社区矫正对象", "user": "工作人员", "organisation": "机构", "export": "导出任务",
                 "audit": "审计日志",
                 "case": "社区矫正案件", "task": "待办事项", "calendar": "节假日安排", "document": "执法文书",
                 "investigation": "调查评估", "request": "审批申请", "activity": "教育学习和公益活动",
                 "rule_setting": "本省监管规则", "notice": "通知"}


def action_label(code: str) -> str:
    return ACTION_LABELS.get(code, code)
