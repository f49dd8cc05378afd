#!/usr/bin/env python3
"""Writes tar archives for the OVA tests, including ones GNU tar will not make.

usage: mktar.py FORMAT OUT ENTRY...
  FORMAT   ustar | pax | gnu
  ENTRY    file:NAME=SRC        regular file NAME with the contents of SRC
           text:NAME=TEXT       regular file NAME containing TEXT
           dir:NAME             folder
           symlink:NAME=TARGET  symbolic link
           hardlink:NAME=TARGET hard link
           fifo:NAME            named pipe
Names are stored exactly as given ("../x", "/abs" included).
"""
import io
import sys
import tarfile

FORMATS = {"ustar": tarfile.USTAR_FORMAT, "pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT}


def main(argv):
    if len(argv) < 3 or argv[1] not in FORMATS:
        sys.stderr.write(__doc__)
        return 2
    with tarfile.open(argv[2], "w", format=FORMATS[argv[1]]) as tar:
        for entry in argv[3:]:
            kind, _, rest = entry.partition(":")
            name, _, value = rest.partition("=")
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            info.mode = 0o644
            data = None
            if kind == "file":
                with open(value, "rb") as f:
                    data = f.read()
            elif kind == "text":
                data = value.encode()
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = value
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = value
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            else:
                sys.stderr.write("unknown entry kind: %s\n" % kind)
                return 2
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
