"""Los ficheros de imagen de ``lab.core``: leer, guardar de forma atómica, rutas y modos de imagen.

``load`` lee como un visor, ``save`` guarda de forma atómica, ``paths`` da rutas imprimibles y
causas en español, ``modes`` pasa cualquier modo de Pillow al de trabajo de 8 bits (lo usan
también los filtros) y ``profiles`` conserva los colores (perfiles ICC). Aquí está lo que hace que
la salida sea la imagen correcta o un error claro (orientación EXIF, 16 bits, animaciones, perfiles
de color, nombres largos o no UTF-8); ``lab.core.process_image`` solo lo encadena.
"""
