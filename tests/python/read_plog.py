#!/usr/bin/env python3
"""Read a pandalog the way PANDA's Python reader does, and print it as a JSON array.

Written from the facts of panda/python/core/pandare/plog_reader.py (panda-re/panda): the 24-byte header '<IIQII'
(version, pad, dir_pos, chunk_size, pad); the directory at dir_pos (u32 count, then count x '<QQQ' start_instr,
file_pos, num_entries); chunk i spans pos[i]..pos[i+1], the last one is read to EOF (directory included) and
zlib.decompress(data, 15, chunk_size) ignores what follows the stream; records are u32 length + LogEntry, parsed
until the chunk's data is used up (instr and num_entries are not consulted). Output as `python -m pandare.plog_reader`:
'[', then MessageToJson of each entry separated by ',', then ']'.

The schema is our plog.proto, compiled with `protoc --python_out` into a temporary directory.
Exit status: 0 ok; 1 if an entry lacks pc or instr, or the file cannot be read; 2 usage.

usage: read_plog.py FILE.plog [--proto PATH/TO/plog.proto]
"""
import argparse
import importlib
import os
import struct
import subprocess
import sys
import tempfile
import zlib

DEFAULT_PROTO = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             '..', '..', 'src', 'Win7Proc.Offline.Pandalog', 'plog.proto')


def compile_schema(proto_path, out_dir):
    proto_path = os.path.abspath(proto_path)
    subprocess.run(['protoc', '--proto_path=' + os.path.dirname(proto_path), '--python_out=' + out_dir, proto_path],
                   check=True)
    sys.path.insert(0, out_dir)
    module = os.path.splitext(os.path.basename(proto_path))[0] + '_pb2'
    return importlib.import_module(module)


def read_entries(path, plog_pb2):
    with open(path, 'rb') as f:
        version, _, dir_pos, _, chunk_gsize = struct.unpack('<IIQII', f.read(24))
        if version != 2:
            raise ValueError('bad version %d' % version)
        f.seek(dir_pos)
        nchunks, = struct.unpack('<I', f.read(4))
        directory = f.read(24 * nchunks)
        for i in range(nchunks):
            _, pos, _ = struct.unpack_from('<QQQ', directory, 24 * i)
            if i + 1 < nchunks:
                size = struct.unpack_from('<QQQ', directory, 24 * (i + 1))[1] - pos
            else:
                size = -1  # the last chunk is read to the end of the file
            f.seek(pos)
            data = zlib.decompress(f.read(size), 15, chunk_gsize)
            offset = 0
            while offset < len(data):
                n, = struct.unpack_from('<I', data, offset)
                entry = plog_pb2.LogEntry()
                entry.MergeFromString(data[offset + 4:offset + 4 + n])
                offset += 4 + n
                yield entry


def main():
    parser = argparse.ArgumentParser(description='Print a pandalog as JSON, like pandare.plog_reader.')
    parser.add_argument('plog')
    parser.add_argument('--proto', default=DEFAULT_PROTO)
    args = parser.parse_args()
    from google.protobuf.json_format import MessageToJson

    with tempfile.TemporaryDirectory(prefix='plog_pb2_') as out_dir:
        try:
            plog_pb2 = compile_schema(args.proto, out_dir)
        except (OSError, subprocess.CalledProcessError) as e:
            print('error: cannot compile %s: %s' % (args.proto, e), file=sys.stderr)
            return 1
        missing = 0
        try:
            print('[')
            for i, entry in enumerate(read_entries(args.plog, plog_pb2)):
                if not (entry.HasField('pc') and entry.HasField('instr')):
                    missing += 1
                if i > 0:
                    print(',')
                print(MessageToJson(entry), end='')
            print('\n]')
        except (OSError, ValueError, struct.error, zlib.error) as e:
            print('error: %s: %s' % (args.plog, e), file=sys.stderr)
            return 1
        if missing:
            print('error: %d entries lack pc or instr' % missing, file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
