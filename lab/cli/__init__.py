"""La línea de órdenes de ``lab`` (``python -m lab <orden>``): textos de argparse en español y las órdenes de la cola."""
