# Con IPython 9 la opción de configuración no basta en el kernel: se fija el esquema al arrancar.
get_ipython().run_line_magic("colors", "nocolor")  # noqa: F821
