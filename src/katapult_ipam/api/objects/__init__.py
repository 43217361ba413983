"""Records -> the JSON shapes production sends, one module per resource.

Keys are in production's order (Apia renders fields in the order its object
declares them); a nullable field that is None is rendered as null, never left
out. Where production renders one object in several shapes (a full network in
an IP address, a compact one in ``default_network``), each shape has its own
function, named for where it is used.
"""
