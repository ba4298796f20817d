"""The single DynamoDB table: typed errors, create-only puts, conditional updates, cursors."""

from __future__ import annotations

import base64
import json
import random
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError
from itsdangerous import BadSignature, URLSafeSerializer

from truss.data import keys

Item = dict[str, Any]


class DataError(Exception):
    """Base of every data-layer error."""


class NotFound(DataError):
    pass


class AlreadyExists(DataError):
    pass


class Conflict(DataError):
    """A condition did not hold: someone else changed the item first."""


class BadCursor(DataError):
    """A pagination cursor that was tampered with or belongs to someone else."""


class MissingIndex(DataError):
    """A Query on an index the table lacks (or is still building): an operator's job."""


class Throttled(DataError):
    """DynamoDB still left keys of a batch unprocessed (throughput exceeded) after every try."""


# BatchGetItem's UnprocessedKeys are asked again after an exponentially growing wait with full
# jitter (botocore retries throttled calls, but not keys a successful call left unprocessed).
BATCH_TRIES = 8
BATCH_BACKOFF_S = 0.05  # the first wait's upper bound; doubles each try
BATCH_BACKOFF_MAX_S = 2.0


def backoff_s(attempt: int) -> float:
    """Full jitter: a random wait up to min(cap, base * 2**attempt)."""
    return random.uniform(0, min(BATCH_BACKOFF_MAX_S, BATCH_BACKOFF_S * 2**attempt))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _conflict_on_failed_condition(key: keys.Key) -> Iterator[None]:
    """A condition that did not hold becomes Conflict; every other error passes through."""
    try:
        yield
    except ClientError as exc:
        if _code(exc) == "ConditionalCheckFailedException":
            raise Conflict(f"{key['PK']} {key['SK']} changed or is missing") from exc
        raise


def plain(value: Any) -> Any:
    """DynamoDB's Decimals back to int/float, recursively."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [plain(v) for v in value]
    return value


def dynamo_value(value: Any) -> Any:
    """Python values to what boto3's serializer accepts (floats become Decimals)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [dynamo_value(v) for v in value]
    return value


class CursorCodec:
    """Signs a LastEvaluatedKey into an opaque string bound to one creator and one query."""

    def __init__(self, secret: str) -> None:
        self._signer = URLSafeSerializer(secret, salt="truss.cursor")

    def encode(self, owner: str, scope: str, last_key: Mapping[str, Any]) -> str:
        raw = json.dumps({"o": owner, "s": scope, "k": plain(dict(last_key))}, sort_keys=True)
        packed = base64.urlsafe_b64encode(zlib.compress(raw.encode())).decode()
        return str(self._signer.dumps(packed))

    def decode(self, cursor: str, owner: str, scope: str) -> Item:
        try:
            packed = self._signer.loads(cursor)
            data = json.loads(zlib.decompress(base64.urlsafe_b64decode(packed)))
        except (BadSignature, ValueError, zlib.error) as exc:
            raise BadCursor("This page link is damaged. Go back to the first page.") from exc
        if data.get("o") != owner or data.get("s") != scope:
            raise BadCursor("This page link belongs to another list. Go back to the first page.")
        return dict(data["k"])


class Table:
    """One table, one boto3 resource; records the capacity every call consumed."""

    sleep: Callable[[float], None] = staticmethod(time.sleep)  # tests record the waits

    def __init__(self, resource: Any, name: str, secret: str) -> None:
        self.name = name
        self._table = resource.Table(name)
        self._client = resource.meta.client
        self.cursors = CursorCodec(secret)
        self.consumed: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.items_read: dict[str, int] = defaultdict(int)  # what a read paid for

    def _record(self, operation: str, response: Mapping[str, Any], read: int = 0) -> None:
        self.calls[operation] += 1
        self.items_read[operation] += read
        capacity = response.get("ConsumedCapacity")
        for entry in capacity if isinstance(capacity, list) else [capacity] if capacity else []:
            self.consumed[operation] += float(entry.get("CapacityUnits", 0) or 0)

    def ping(self) -> None:
        """Raise unless the table exists and answers: one eventually consistent GetItem of a
        key no item has, the permission the app uses anyway (DescribeTable would need one more)."""
        self._table.get_item(Key=keys.health_probe(), ConsistentRead=False)

    def get(self, key: keys.Key, consistent: bool = True) -> Item:
        response = self._table.get_item(
            Key=key, ConsistentRead=consistent, ReturnConsumedCapacity="TOTAL"
        )
        self._record("get", response, read=int("Item" in response))
        if "Item" not in response:
            raise NotFound(f"{key['PK']} {key['SK']}")
        return dict(plain(response["Item"]))

    def get_typed(self, key: keys.Key, item_type: str) -> Item:
        """The item under key if it is of item_type; NotFound otherwise."""
        item = self.get(key)
        if item.get("type") != item_type:
            raise NotFound(f"{key['PK']} {key['SK']} is not a {item_type}")
        return item

    def find(self, key: keys.Key) -> Item | None:
        try:
            return self.get(key)
        except NotFound:
            return None

    def put(self, item: Item) -> None:
        """Unconditional put: create or replace (for items rebuilt whole, like chapters)."""
        response = self._table.put_item(Item=dynamo_value(item), ReturnConsumedCapacity="TOTAL")
        self._record("put", response)

    def put_new(self, item: Item) -> None:
        """Create-only put: AlreadyExists when an item with that key exists."""
        try:
            response = self._table.put_item(
                Item=dynamo_value(item),
                ConditionExpression=Attr("PK").not_exists(),
                ReturnConsumedCapacity="TOTAL",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise AlreadyExists(f"{item['PK']} {item['SK']}") from exc
            raise
        self._record("put", response)

    def update(
        self,
        key: keys.Key,
        changes: Mapping[str, Any],
        condition: ConditionBase | None = None,
        add: Mapping[str, int | float] | None = None,
        remove: Sequence[str] = (),
    ) -> Item:
        """SET changes (ADD counters, REMOVE names) when the item exists and condition holds."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        clauses: list[str] = []
        sets = []
        for i, (name, value) in enumerate(changes.items()):
            names[f"#s{i}"], values[f":s{i}"] = name, dynamo_value(value)
            sets.append(f"#s{i} = :s{i}")
        if sets:
            clauses.append("SET " + ", ".join(sets))
        adds = []
        for i, (name, amount) in enumerate((add or {}).items()):
            names[f"#a{i}"], values[f":a{i}"] = name, dynamo_value(amount)
            adds.append(f"#a{i} :a{i}")
        if adds:
            clauses.append("ADD " + ", ".join(adds))
        if remove:
            names.update({f"#r{i}": name for i, name in enumerate(remove)})
            clauses.append("REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove))))
        exists = Attr("PK").exists()
        kwargs: dict[str, Any] = {
            "Key": key,
            "UpdateExpression": " ".join(clauses),
            "ConditionExpression": exists & condition if condition is not None else exists,
            "ExpressionAttributeNames": names,
            "ReturnValues": "ALL_NEW",
            "ReturnConsumedCapacity": "TOTAL",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        with _conflict_on_failed_condition(key):
            response = self._table.update_item(**kwargs)
        self._record("update", response)
        return dict(plain(response["Attributes"]))

    def append(
        self,
        key: keys.Key,
        name: str,
        values: Sequence[Any],
        add: Mapping[str, int | float] | None = None,
    ) -> Item:
        """Append to a list attribute (created if missing) in one UpdateItem: concurrent
        appends all land, with no read first. ADD counters too. The item must exist."""
        names = {"#l": name}
        values_: dict[str, Any] = {":l": dynamo_value(list(values)), ":empty": []}
        adds = []
        for i, (counter, amount) in enumerate((add or {}).items()):
            names[f"#a{i}"], values_[f":a{i}"] = counter, dynamo_value(amount)
            adds.append(f"#a{i} :a{i}")
        expression = "SET #l = list_append(if_not_exists(#l, :empty), :l)"
        if adds:
            expression += " ADD " + ", ".join(adds)
        with _conflict_on_failed_condition(key):
            response = self._table.update_item(
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=Attr("PK").exists(),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values_,
                ReturnValues="ALL_NEW",
                ReturnConsumedCapacity="TOTAL",
            )
        self._record("update", response)
        return dict(plain(response["Attributes"]))

    def drop_first(self, key: keys.Key, name: str, count: int, length: int) -> None:
        """Remove a list attribute's first `count` elements if it still has `length` (Conflict
        when another write changed it meanwhile)."""
        removed = ", ".join(f"#l[{i}]" for i in range(count))
        with _conflict_on_failed_condition(key):
            response = self._table.update_item(
                Key=key,
                UpdateExpression=f"REMOVE {removed}",
                ConditionExpression=Attr(name).size().eq(length),
                ExpressionAttributeNames={"#l": name},
                ReturnConsumedCapacity="TOTAL",
            )
        self._record("update", response)

    def delete(self, key: keys.Key, condition: ConditionBase | None = None) -> Item | None:
        """Delete and return the old item; with a condition, Conflict when it doesn't hold."""
        kwargs: dict[str, Any] = {
            "Key": key,
            "ReturnValues": "ALL_OLD",
            "ReturnConsumedCapacity": "TOTAL",
        }
        if condition is not None:
            kwargs["ConditionExpression"] = condition
        with _conflict_on_failed_condition(key):
            response = self._table.delete_item(**kwargs)
        self._record("delete", response)
        old = response.get("Attributes")
        return dict(plain(old)) if old else None

    def page(
        self,
        pk: str,
        prefix: str,
        owner: str,
        limit: int = 25,
        cursor: str | None = None,
        newest_first: bool = True,
        index: str | None = None,
        filter_expression: ConditionBase | None = None,
    ) -> tuple[list[Item], str | None]:
        """One Query page: `(items, cursor)`; the cursor is signed and bound to owner and query."""
        pk_name, sk_name = (f"{index}PK", f"{index}SK") if index else ("PK", "SK")
        scope = f"{index or 'table'}|{pk}|{prefix}"
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key(pk_name).eq(pk) & Key(sk_name).begins_with(prefix),
            "ScanIndexForward": not newest_first,
            "Limit": limit,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if index:
            kwargs["IndexName"] = index
        if filter_expression is not None:
            kwargs["FilterExpression"] = filter_expression
        if cursor:
            start = self.cursors.decode(cursor, owner, scope)
            if start.get(pk_name) != pk:
                raise BadCursor(
                    "This page link belongs to another list. Go back to the first page."
                )
            kwargs["ExclusiveStartKey"] = dynamo_value(start)
        response = self._query(kwargs)
        self._record("query", response, read=int(response.get("ScannedCount", 0)))
        last = response.get("LastEvaluatedKey")
        next_cursor = self.cursors.encode(owner, scope, last) if last else None
        return [dict(plain(item)) for item in response.get("Items", [])], next_cursor

    def _query(self, kwargs: dict[str, Any]) -> Any:
        """Query; on an index the table lacks or still builds, MissingIndex telling the
        operator what to do (DynamoDB says ValidationException, moto ResourceNotFound)."""
        try:
            return self._table.query(**kwargs)
        except ClientError as exc:
            index = kwargs.get("IndexName")
            message = str(exc.response.get("Error", {}).get("Message", ""))
            codes = {"ValidationException", "ResourceNotFoundException"}
            if index and _code(exc) in codes and "index" in message.lower():
                raise MissingIndex(
                    f"Table {self.name} has no usable index {index} ({message}). Run "
                    "`truss init` against this table: it adds the index and waits until it "
                    "is ACTIVE."
                ) from exc
            raise

    def query_all(self, pk: str, prefix: str, index: str | None = None) -> Iterator[Item]:
        """Every item of one partition under an SK prefix (for deletes and jobs, not pages);
        with an index, that index's partition (eventually consistent). An empty prefix: the
        whole partition."""
        pk_name, sk_name = (f"{index}PK", f"{index}SK") if index else ("PK", "SK")
        condition = Key(pk_name).eq(pk)
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": condition & Key(sk_name).begins_with(prefix)
            if prefix
            else condition,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if index:
            kwargs["IndexName"] = index
        while True:
            response = self._query(kwargs)
            self._record("query", response, read=int(response.get("ScannedCount", 0)))
            yield from (dict(plain(item)) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def keys_of_partition(self, pk: str) -> Iterator[keys.Key]:
        """The key of every item of one partition, whatever its SK (a paginated Query reading
        only PK and SK): for emptying a partition, e.g. deleting an account."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(pk),
            "ProjectionExpression": "PK, SK",
            "ReturnConsumedCapacity": "TOTAL",
        }
        while True:
            response = self._table.query(**kwargs)
            self._record("query", response, read=int(response.get("ScannedCount", 0)))
            yield from ({"PK": item["PK"], "SK": item["SK"]} for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def query_between(self, pk: str, low: str, high: str) -> Iterator[Item]:
        """Every item of one partition with low <= SK <= high: one Query (more pages only
        past 1 MB)."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("PK").eq(pk) & Key("SK").between(low, high),
            "ReturnConsumedCapacity": "TOTAL",
        }
        while True:
            response = self._query(kwargs)
            self._record("query", response, read=int(response.get("ScannedCount", 0)))
            yield from (dict(plain(item)) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def add_once(
        self,
        key: keys.Key,
        add: Mapping[str, int | float],
        marks: str,
        mark: str,
        changes: Mapping[str, Any] | None = None,
    ) -> set[str] | None:
        """ADD counters to an item (made if missing; SET changes too) unless the string set
        `marks` already holds `mark`, adding it in the same write, so a retried flush counts
        once: the marks now on the item, or None when `mark` was applied before."""
        names = {"#m": marks}
        values: dict[str, Any] = {":m": {mark}}
        adds = ["#m :m"]
        for i, (name, amount) in enumerate(add.items()):
            names[f"#a{i}"], values[f":a{i}"] = name, dynamo_value(amount)
            adds.append(f"#a{i} :a{i}")
        sets = []
        for i, (name, value) in enumerate((changes or {}).items()):
            names[f"#s{i}"], values[f":s{i}"] = name, dynamo_value(value)
            sets.append(f"#s{i} = :s{i}")
        expression = ("SET " + ", ".join(sets) + " " if sets else "") + "ADD " + ", ".join(adds)
        try:
            response = self._table.update_item(
                Key=key,
                UpdateExpression=expression,
                ConditionExpression="NOT contains(#m, :mark)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":mark": mark},
                ReturnValues="UPDATED_NEW",
                ReturnConsumedCapacity="TOTAL",
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        self._record("update", response)
        return set(response.get("Attributes", {}).get(marks, set()))

    def upsert(self, key: keys.Key, changes: Mapping[str, Any]) -> None:
        """SET these attributes on the item, made if missing (one UpdateItem, no condition):
        for items written piecewise by one writer, e.g. a day's platform statistics."""
        names = {f"#s{i}": name for i, name in enumerate(changes)}
        values = {f":s{i}": dynamo_value(value) for i, value in enumerate(changes.values())}
        response = self._table.update_item(
            Key=key,
            UpdateExpression="SET " + ", ".join(f"#s{i} = :s{i}" for i in range(len(changes))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnConsumedCapacity="TOTAL",
        )
        self._record("update", response)

    def drop_marks(self, key: keys.Key, marks: str, old: set[str]) -> None:
        """Remove these members from a string set attribute (DELETE; absent ones are fine)."""
        if not old:
            return
        response = self._table.update_item(
            Key=key,
            UpdateExpression="DELETE #m :old",
            ExpressionAttributeNames={"#m": marks},
            ExpressionAttributeValues={":old": old},
            ReturnConsumedCapacity="TOTAL",
        )
        self._record("update", response)

    def scan(
        self, filter_expression: ConditionBase, attributes: Sequence[str] = (), page_size: int = 0
    ) -> Iterator[Item]:
        """Every item of the WHOLE table that passes the filter, for the rare operator command
        (never a page): a paginated Scan, which reads and pays for every item (the filter only
        shrinks what comes back). `attributes` limits what each item carries."""
        kwargs: dict[str, Any] = {
            "FilterExpression": filter_expression,
            "ReturnConsumedCapacity": "TOTAL",
        }
        if attributes:
            names = {f"#a{i}": name for i, name in enumerate(attributes)}
            kwargs["ProjectionExpression"] = ", ".join(names)
            kwargs["ExpressionAttributeNames"] = names
        if page_size:
            kwargs["Limit"] = page_size
        while True:
            response = self._table.scan(**kwargs)
            self._record("scan", response, read=int(response.get("ScannedCount", 0)))
            yield from (dict(plain(item)) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def get_many(
        self, item_keys: Sequence[keys.Key], attributes: Sequence[str] = (), consistent: bool = True
    ) -> list[Item]:
        """BatchGetItem (100 keys a call, strongly consistent unless told; unprocessed keys
        asked again with backoff, Throttled after BATCH_TRIES calls); missing keys are left
        out, order is not kept. With attributes, only those (plus the key) are read."""
        found: list[Item] = []
        distinct = list({(key["PK"], key["SK"]): key for key in item_keys}.values())
        for start in range(0, len(distinct), 100):
            request: dict[str, Any] = {
                "Keys": distinct[start : start + 100],
                "ConsistentRead": consistent,
            }
            if attributes:
                names = {f"#p{i}": name for i, name in enumerate(("PK", "SK", *attributes))}
                request["ProjectionExpression"] = ", ".join(names)
                request["ExpressionAttributeNames"] = names
            found += self._batch_get({self.name: request})
        return found

    def _batch_get(self, pending: dict[str, Any]) -> list[Item]:
        """One BatchGetItem request and its unprocessed keys until none are left."""
        found: list[Item] = []
        for attempt in range(BATCH_TRIES):
            if attempt:
                self.sleep(backoff_s(attempt - 1))
            response = self._client.batch_get_item(
                RequestItems=pending, ReturnConsumedCapacity="TOTAL"
            )
            items = response.get("Responses", {}).get(self.name, [])
            self._record("batch_get", response, read=len(items))
            found += [dict(plain(item)) for item in items]
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                return found
        left = len(pending.get(self.name, {}).get("Keys", []))
        raise Throttled(f"{left} keys still unprocessed after {BATCH_TRIES} BatchGetItem calls")

    def transact(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """TransactWriteItems; a failed condition raises AlreadyExists, anything else Conflict."""
        with_table = [self._with_table(action) for action in actions]
        try:
            response = self._client.transact_write_items(
                TransactItems=with_table, ReturnConsumedCapacity="TOTAL"
            )
        except ClientError as exc:
            if _code(exc) == "TransactionCanceledException":
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "ConditionalCheckFailed" in reasons:
                    raise AlreadyExists(f"transaction refused: {reasons}") from exc
                raise Conflict(f"transaction refused: {reasons}") from exc
            raise
        self._record("transact", response)

    def _with_table(self, action: Mapping[str, Any]) -> dict[str, Any]:
        """The resource's client serializes Python values itself; add the table name."""
        ((verb, body),) = action.items()
        return {verb: dynamo_value(dict(body, TableName=self.name))}

    def batch_delete(self, item_keys: Sequence[keys.Key]) -> None:
        with self._table.batch_writer() as batch:
            for key in item_keys:
                batch.delete_item(Key=key)


def create_only(item: Item) -> dict[str, Any]:
    """A transaction Put that fails when the key exists."""
    return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(PK)"}}
