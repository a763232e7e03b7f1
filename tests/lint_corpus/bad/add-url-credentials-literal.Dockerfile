FROM alpine:3.20
ADD https://deploy:{alnum:16}@files.example.invalid/app.tgz /tmp/app.tgz
# expect: dockerfile-add-url-credentials@2
