FROM golang:1.23 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/app ./cmd/app
FROM gcr.io/distroless/base
COPY --from=build /src /src
# context-file: main.go
# context-file: .env
# dockerignore: .git
# expect: dockerfile-context-copy@3 dockerfile-stage-leak@6
