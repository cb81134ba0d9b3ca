#!/bin/sh
# bench/net/http_nginx.sh --port N [--tls CERT KEY | --static DIR] - nginx as
# the HTTP anchor: one worker, no master process (so the harness's pid is the
# process that serves, and its CPU time is all of nginx's), no access log;
# `return 200 "hello world"`, or with --static DIR the files of DIR
# (`sendfile on`, nginx's other defaults: the static rows of issue 17). Writes its configuration into a temporary directory that
# is removed when nginx exits, prints the "listening on" line the harness
# waits for, then becomes nginx (exec): SIGTERM from the harness stops it.
set -eu
[ "${1:-}" = "--port" ] && [ -n "${2:-}" ] || { echo "usage: http_nginx.sh --port N [--tls CERT KEY | --static DIR]" >&2; exit 2; }
port=$2
# --tls CERT KEY: HTTPS on the same port (the HTTPS rows), TLS 1.2 and 1.3,
# nginx's default ciphers, a session cache off (as vow's server has none).
ssl=""
tls_conf=""
if [ "${3:-}" = "--tls" ] && [ -n "${4:-}" ] && [ -n "${5:-}" ]; then
    ssl=" ssl"
    tls_conf="ssl_certificate $4; ssl_certificate_key $5; ssl_protocols TLSv1.2 TLSv1.3;"
fi
# --static DIR: serve DIR's files with sendfile(2), as vow's file_server does
# on plain TCP; tcp_nopush stays at nginx's default (off).
location_conf='default_type text/plain; return 200 "hello world";'
if [ "${3:-}" = "--static" ] && [ -n "${4:-}" ]; then
    [ -d "$4" ] || { echo "http_nginx.sh: --static $4: not a directory" >&2; exit 2; }
    location_conf="root $(cd "$4" && pwd); default_type application/octet-stream;"
    static_conf="sendfile on;"
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || { echo "nginx not installed (apt-get install nginx-light)" >&2; exit 1; }
dir=$(mktemp -d /tmp/vow-bench-nginx.XXXXXX)
cat > "$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    ${static_conf:-}
    server {
        listen 127.0.0.1:$port$ssl reuseport;
        $tls_conf
        location / {
            $location_conf
        }
    }
}
CONF
# The directory goes when the shell is replaced: remove it from a watcher
# that outlives nginx (the harness's SIGTERM ends nginx, then this).
( while kill -0 $$ 2>/dev/null; do sleep 1; done; rm -rf "$dir" ) >/dev/null 2>&1 &
echo "listening on 127.0.0.1:$port"
exec "$nginx" -p "$dir" -c "$dir/nginx.conf"
