# Convenience targets; everything goes through dev.py so it also works without make.
.PHONY: run test check lock
run:
	python3 dev.py run
test:
	python3 dev.py test
check:
	python3 dev.py check
lock:
	python3 dev.py lock
