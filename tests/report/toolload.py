"""Loads one of the extension-less Python tools in tools/ as a module, so
the tests can call its functions directly."""
import os
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")


def load_tool(name):
    modname = name.replace("-", "_")
    loader = SourceFileLoader(modname, os.path.join(TOOLS, name))
    spec = spec_from_loader(modname, loader)
    mod = module_from_spec(spec)
    loader.exec_module(mod)
    return mod
