"""qnetlab application layer: the IPython session, the command line, the catalog wiring.

``from qnetlab import session; s = session.start("config/sim_lab.yaml")``
"""
