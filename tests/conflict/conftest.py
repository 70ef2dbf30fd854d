from hypothesis import HealthCheck, settings

settings.register_profile(
    "conflict",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.load_profile("conflict")
