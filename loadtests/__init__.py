"""Release load tests: Locust suites, latency budgets and the `make loadtest` runner."""
