"""Workers cuyo trabajo de imagen corre en procesos hijos (un núcleo de CPU por worker).

- ``child``: el proceso hijo y el protocolo (JSON plano por una tubería).
- ``worker``: ``ProcessWorker`` y ``ProcessWorkerPool``.
"""
