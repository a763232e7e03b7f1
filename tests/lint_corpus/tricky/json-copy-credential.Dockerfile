FROM alpine:3.20
COPY ["id_rsa", "/root/.ssh/id_rsa"]
# context-file: id_rsa
# expect: dockerfile-credential-copy@2
