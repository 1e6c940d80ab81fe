/**
 * The PNG writer of the bench plots (bench/png.ts): a file a decoder accepts — signature, IHDR
 * fields, every chunk's CRC-32, and IDAT inflating to one filter byte plus width × 3 bytes per row.
 */
import { inflateSync } from 'node:zlib';
import { encodePng, PNG_SIGNATURE, Raster } from '../../bench/png';
import { plotSoak, ticks } from '../../bench/plot';

/** CRC-32 (ISO-HDLC, reflected polynomial 0xEDB88320) computed here, independent of the writer's zlib.crc32. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface Chunk {
  type: string;
  data: Buffer;
  crc: number;
  /** CRC-32 of type + data, computed here. */
  expected: number;
}

function chunks(png: Buffer): Chunk[] {
  const out: Chunk[] = [];
  let at = PNG_SIGNATURE.length;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('ascii', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    out.push({ type, data, crc: png.readUInt32BE(at + 8 + length), expected: crc32(png.subarray(at + 4, at + 8 + length)) >>> 0 });
    at += 12 + length;
  }
  return out;
}

describe('bench PNG writer', () => {
  const width = 7;
  const height = 3;
  const rgb = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256);
  const png = encodePng(width, height, rgb);

  it('starts with the PNG signature and has IHDR, IDAT, IEND in order', () => {
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    expect(chunks(png).map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  });

  it('writes the dimensions, 8-bit truecolour, no interlace in IHDR', () => {
    const ihdr = chunks(png)[0]!.data;
    expect(ihdr.length).toBe(13);
    expect(ihdr.readUInt32BE(0)).toBe(width);
    expect(ihdr.readUInt32BE(4)).toBe(height);
    expect([...ihdr.subarray(8)]).toEqual([8, 2, 0, 0, 0]);
  });

  it('gives every chunk the CRC-32 of its type and data', () => {
    expect(crc32(Buffer.from('IEND'))).toBe(0xae426082); // the IEND CRC every PNG ends with
    for (const c of chunks(png)) expect(c.crc).toBe(c.expected);
  });

  it('inflates IDAT to a filter byte and the row of pixels per scanline', () => {
    const raw = inflateSync(chunks(png)[1]!.data);
    expect(raw.length).toBe(height * (1 + width * 3));
    for (let y = 0; y < height; y++) {
      const row = raw.subarray(y * (1 + width * 3), (y + 1) * (1 + width * 3));
      expect(row[0]).toBe(0);
      expect([...row.subarray(1)]).toEqual([...rgb.subarray(y * width * 3, (y + 1) * width * 3)]);
    }
  });

  it('refuses a raster of the wrong size', () => {
    expect(() => encodePng(2, 2, new Uint8Array(11))).toThrow(/expected 12 bytes/);
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(/bad PNG size/);
  });

  it('draws lines and text into the raster', () => {
    const r = new Raster(20, 10);
    r.line(0, 0, 19, 9, [255, 0, 0]);
    r.text(1, 1, '7', [0, 0, 255], 1);
    const at = (x: number, y: number) => [...r.pixels.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3)];
    expect(at(0, 0)).toEqual([255, 0, 0]);
    expect(at(19, 9)).toEqual([255, 0, 0]);
    expect(at(1, 1)).toEqual([0, 0, 255]); // top row of "7" is ###
    expect(at(10, 1)).toEqual([255, 255, 255]);
  });
});

describe('bench soak plot', () => {
  it('picks round ticks that cover the range', () => {
    expect(ticks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(ticks(0, 430)).toEqual([0, 100, 200, 300, 400]);
  });

  it('renders a soak series to a 1000 × 640 PNG', () => {
    const series = Array.from({ length: 12 }, (_, i) => ({ min: i / 2, heapAfterMajorGcMB: i === 0 ? null : 300 + (i % 3), rssMB: 420 + i, deliveryP99Ms: 20 + i, queriesPerSecond: 500 }));
    const png = plotSoak({ series, check: { warmupMinutes: 1 } });
    const ihdr = chunks(png)[0]!.data;
    expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4)]).toEqual([1000, 640]);
    expect(inflateSync(chunks(png)[1]!.data).length).toBe(640 * (1 + 1000 * 3));
  });
});
