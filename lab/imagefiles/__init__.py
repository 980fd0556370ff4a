"""Los ficheros de imagen de ``lab.core``: leer (``load``), guardar de forma atómica (``save``) y rutas (``paths``).

Aquí está lo que hace que la salida sea la imagen correcta o un error claro (orientación EXIF,
16 bits, animaciones, nombres largos o no UTF-8); ``lab.core.process_image`` solo lo encadena.
"""
