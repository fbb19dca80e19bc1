"""iniset/iniget for the devstack stand-in (devstack's own are awk)."""
import configparser
import sys

action, path, section, option = sys.argv[1:5]
parser = configparser.RawConfigParser()
parser.optionxform = str
parser.read(path)
if action == 'get':
    print(parser.get(section, option, fallback=''))
    sys.exit(0)
if section != 'DEFAULT' and not parser.has_section(section):
    parser.add_section(section)
parser.set(section, option, sys.argv[5])
with open(path, 'w') as f:
    parser.write(f)
