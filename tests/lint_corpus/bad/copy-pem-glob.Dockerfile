FROM nginx:1.27
COPY *.pem /etc/nginx/tls/
# context-file: server.pem
# dockerignore: .git
# expect: dockerfile-credential-copy@2
