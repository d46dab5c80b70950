.PHONY: run test
run:  ## set up and start the API with a worker on embedded defaults
	bash scripts/quickstart.sh
test: ## set up and run the whole test suite (PostgreSQL + Redis)
	bash scripts/test.sh
