"""Los textos de ``argparse`` en español («uso:», «opciones»...) para las órdenes de ``lab``.

``argparse`` traduce sus mensajes con ``gettext``; aquí se sustituye esa función por un
diccionario pequeño. Solo lo llaman las funciones ``main`` de las órdenes (un proceso de
línea de órdenes), nunca al importar ``lab``. Los textos que no están en el diccionario
se quedan como estaban.
"""

from __future__ import annotations

import argparse
import sys

SPANISH: dict[str, str] = {
    "usage: ": "uso: ",
    "positional arguments": "argumentos",
    "options": "opciones",
    "optional arguments": "opciones",
    "show this help message and exit": "muestra esta ayuda y termina",
    "the following arguments are required: %s": "faltan estos argumentos: %s",
    "unrecognized arguments: %s": "argumentos que no se reconocen: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "opción no válida: %(value)r (elige entre %(choices)s)",
    "expected one argument": "falta el valor",
    "invalid %(type)s value: %(value)r": "valor no válido para %(type)s: %(value)r",
    "argument %(argument_name)s: %(message)s": "argumento %(argument_name)s: %(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s: error: %(message)s\n",
}


def spanish_argparse() -> None:
    """Hace que ``argparse`` muestre en español la ayuda y los errores de uso (idempotente).

    También deja que la salida estándar escriba lo que su codificación no tiene (los ✅ y las
    tildes en una consola o un fichero cp1252 de Windows) como ``\\u2705``, como ya hace la salida
    de errores: si no, ``print`` lanzaría ``UnicodeEncodeError`` *después* de encolar, y la orden
    diría que ha fallado algo que ha hecho.
    """
    argparse._ = lambda text: SPANISH.get(text, text)  # type: ignore[attr-defined]
    reconfigure = getattr(sys.stdout, "reconfigure", None)  # no existe en flujos sustituidos (tests, Jupyter)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
