IMAGE ?= example/app

image:
	docker build --build-arg NPM_TOKEN=$(NPM_TOKEN) -t $(IMAGE) .

image-ci:
	docker buildx build \
		--build-arg VERSION=$(VERSION) \
		--build-arg=REGISTRY_PASSWORD \
		-t $(IMAGE) .

image-good:
	docker build --secret id=npm_token,env=NPM_TOKEN -t $(IMAGE) .

demo:
	docker build --build-arg DEMO_TOKEN=$$DEMO_TOKEN .  # hubguard: ignore=ci-build-arg-secret the demo token is public
# expect: ci-build-arg-secret@4 ci-build-arg-secret@9
