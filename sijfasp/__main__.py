from .cli.commands import entry

entry()
