FROM alpine:3.20
LABEL org.example.billing="sk_live_{alnum:24}"
# expect: dockerfile-literal-secret@2
