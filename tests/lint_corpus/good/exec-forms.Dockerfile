FROM python:3.12-slim
HEALTHCHECK --interval=30s CMD ["python", "-c", "print('ok')"]
ENTRYPOINT ["python", "-m", "app"]
CMD ["--port", "8080"]
# expect: none
