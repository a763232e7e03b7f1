from alpine:3.20
arg API_KEY
run echo "$API_KEY" > /etc/api_key
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@3
