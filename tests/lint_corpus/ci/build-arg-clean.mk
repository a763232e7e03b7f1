image:
	docker build --build-arg VERSION=$(VERSION) --build-arg BASE_IMAGE=$(BASE) -t app .
# expect: none
