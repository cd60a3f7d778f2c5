from lab import testinfra_backend

testinfra_backend.register()
