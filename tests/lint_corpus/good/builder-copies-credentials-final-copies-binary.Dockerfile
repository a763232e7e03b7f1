FROM golang:1.23 AS build
COPY .netrc /root/.netrc
WORKDIR /src
RUN go build -o /out/app ./cmd/app
FROM gcr.io/distroless/static
COPY --from=build /out/app /app
# context-file: .netrc
# expect: none
