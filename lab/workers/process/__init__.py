"""Workers cuyo trabajo de imagen corre en procesos hijos (un núcleo de CPU por worker).

- ``child``: el proceso hijo, su protocolo (datos planos por una tubería) y ``ChildProcess``.
- ``worker``: ``ProcessWorker``. ``ProcessWorkerPool`` está en ``lab.workers.pool``.
"""
