# syntax=docker/dockerfile:1
FROM alpine:3.20
COPY <<EOF /etc/app.conf
listen = 8080
EOF
RUN --mount=type=secret,id=t,env=API_TOKEN <<SETUP cat > /etc/app.token && <<-'NOTE' cat > /etc/note
token=$API_TOKEN
SETUP
	this body is data: $API_TOKEN is not expanded here
	NOTE
# expect: dockerfile-secret-in-file@6
