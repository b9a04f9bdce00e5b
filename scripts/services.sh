# Sourced by test_all.sh and bench.sh: start PostgreSQL (and Redis when asked) unless they run already, and stop
# only what was started here, on exit. Sets PG_URL (the zhijiao role, which may create databases).
started_pg=0; started_redis=0
REDIS_PORT=${ZHIJIAO_TEST_REDIS_PORT:-6391}
REDIS_PID=/tmp/zhijiao-test-redis.pid
services_stop() {
  if [ $started_redis -eq 1 ]; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
  if [ $started_pg -eq 1 ]; then pg_ctlcluster 15 main stop >/dev/null 2>&1 || true; fi
}
trap services_stop EXIT

as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$*"; else sudo -u postgres bash -c "$*"; fi; }

start_postgres() {
  if ! pg_lsclusters 2>/dev/null | grep -q "^15 *main.*online"; then
    pg_ctlcluster 15 main start && started_pg=1
  fi
  for i in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  as_pg "psql -q -v ON_ERROR_STOP=1 -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='zhijiao') THEN CREATE ROLE zhijiao LOGIN CREATEDB PASSWORD 'zhijiao'; END IF; END \\\$\\\$;\"" >/dev/null
  PG_URL="postgres://zhijiao:zhijiao@127.0.0.1:5432/zhijiao"
}

start_redis() {
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --daemonize yes --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --pidfile "$REDIS_PID" >/dev/null
    started_redis=1
    for i in $(seq 1 20); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.5; done
  fi
}
