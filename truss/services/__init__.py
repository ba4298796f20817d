"""Business rules: take repositories, storage and queues as arguments."""
