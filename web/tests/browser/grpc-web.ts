// A grpc-web answer made by hand, for stories that stand in for a part of the shop the
// test machine cannot have (Stripe): one message frame, then the trailers frame.
import { type DescMessage, type MessageInitShape, create, toBinary } from "@bufbuild/protobuf";

export function grpcWebBody<D extends DescMessage>(schema: D, init: MessageInitShape<D>): Buffer {
  const message = toBinary(schema, create(schema, init));
  const trailers = Buffer.from("grpc-status: 0\r\ngrpc-message: \r\n");
  const frame = (flag: number, body: Uint8Array) => {
    const head = Buffer.alloc(5);
    head[0] = flag;
    head.writeUInt32BE(body.length, 1);
    return Buffer.concat([head, body]);
  };
  return Buffer.concat([frame(0x00, message), frame(0x80, trailers)]);
}
