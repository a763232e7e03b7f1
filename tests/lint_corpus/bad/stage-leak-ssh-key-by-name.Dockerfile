FROM alpine:3.20 AS keys
RUN apk add --no-cache openssh-keygen && ssh-keygen -t ed25519 -N "" -f /root/.ssh/id_ed25519
FROM alpine:3.20
COPY --from=keys /root/.ssh/id_ed25519 /root/.ssh/id_ed25519
# expect: dockerfile-stage-leak@4
