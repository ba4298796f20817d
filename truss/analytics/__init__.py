"""Daily analytics and cost: counting events (buffered in Redis, flushed to DynamoDB each
minute), the metric names, and the cost model."""
