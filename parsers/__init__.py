"""Pure format code: bytes in, syntax trees and issues out (and back). No I/O beyond the bytes handed in."""
