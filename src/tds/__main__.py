from tds.cli.main import app

app(prog_name="tds")
