"""vigilancia: monitoreo territorial indígena y alerta temprana para la Amazonía peruana."""

__version__ = "0.1.0"
