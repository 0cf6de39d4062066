"""Type stubs for `dbutils` (Databricks utilities): the parts this project uses (secrets, task values, widgets, fs)."""
from typing import Any

class _Secrets:
    def get(self, scope: str, key: str) -> str: ...
    def list(self, scope: str) -> list[Any]: ...
    def listScopes(self) -> list[Any]: ...

class _TaskValues:
    def set(self, key: str, value: Any) -> None: ...
    def get(self, taskKey: str, key: str, default: Any = None, debugValue: Any = None) -> Any: ...

class _Jobs:
    taskValues: _TaskValues

class _Widgets:
    def get(self, name: str) -> str: ...
    def text(self, name: str, defaultValue: str, label: str | None = None) -> None: ...

class _FileInfo:
    path: str
    name: str
    size: int

class _Fs:
    def ls(self, path: str) -> list[_FileInfo]: ...
    def mkdirs(self, path: str) -> bool: ...
    def rm(self, path: str, recurse: bool = False) -> bool: ...

class DBUtils:
    secrets: _Secrets
    jobs: _Jobs
    widgets: _Widgets
    fs: _Fs
    def __init__(self, spark: Any) -> None: ...

dbutils: DBUtils
