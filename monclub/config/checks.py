"""The checks of settings, shared by the configuration and its branches' sections: a value that
breaks one is a ConfigError naming the setting."""

from monclub.errors import ConfigError


def positive_int(value, name: str, minimum: int = 1) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be {minimum} or more, got {number}")
    return number


def positive_float(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be more than 0, got {number}")
    return number


def http_urls(value, name: str) -> tuple[str, ...]:
    """A list of http(s) base URLs (a TOML array, or a comma-separated environment variable),
    without a trailing slash."""
    found = value.split(",") if isinstance(value, str) else value
    if not isinstance(found, (list, tuple)):
        raise ConfigError(f"{name} must be a list of http:// URLs, got {value!r}")
    urls = tuple(str(url).strip().rstrip("/") for url in found if str(url).strip())
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name}: {url!r} is not an http:// or https:// URL")
    return urls
