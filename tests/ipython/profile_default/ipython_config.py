# Configuración de IPython para los tests de cuadernos: tracebacks sin códigos de color ANSI.
c = get_config()  # noqa: F821
c.InteractiveShell.colors = "nocolor"
