"""The `huiquan` command line: click commands over the application layer (`usecases`)."""
