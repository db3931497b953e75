"""The HS256 secret the tests' servers verify with (never a deployment's).

A plain module (not a conftest) so test modules can import it by name.
"""

TEST_JWT_SECRET = "test-only-secret-" + "0123456789abcdef" * 2
