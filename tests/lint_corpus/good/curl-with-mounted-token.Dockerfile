FROM alpine:3.20
RUN --mount=type=secret,id=api,env=API_TOKEN \
    curl -fsS -H "Authorization: Bearer $API_TOKEN" -o /app/data.json https://api.example.invalid/v1/data
# expect: none
