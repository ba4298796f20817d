"""Publishing clips to the creators' platforms: tokens at rest, refresh, adapters."""
