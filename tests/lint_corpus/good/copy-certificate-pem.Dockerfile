FROM nginx:1.27
COPY certs/ca.pem /usr/local/share/ca-certificates/ca.crt
# context-file: certs/ca.pem placeholder
# expect: none
