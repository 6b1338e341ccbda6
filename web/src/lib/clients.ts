// The shop's services as typed clients over one transport: grpc-web from the browser
// (connect-web) or from the tests (connect-node). Nothing here knows an HTTP path.
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { UserService } from "../gen/mart/user/v1/user_pb.js";
import { CatalogService } from "../gen/mart/product/v1/product_pb.js";
import { InventoryService } from "../gen/mart/inventory/v1/inventory_pb.js";
import { OrderService } from "../gen/mart/order/v1/order_pb.js";
import { PaymentService } from "../gen/mart/payment/v1/payment_pb.js";
import { NotificationService } from "../gen/mart/notify/v1/notify_pb.js";

export interface Clients {
  users: Client<typeof UserService>;
  catalog: Client<typeof CatalogService>;
  inventory: Client<typeof InventoryService>;
  orders: Client<typeof OrderService>;
  payments: Client<typeof PaymentService>;
  notifications: Client<typeof NotificationService>;
}

export function clients(transport: Transport): Clients {
  return {
    users: createClient(UserService, transport),
    catalog: createClient(CatalogService, transport),
    inventory: createClient(InventoryService, transport),
    orders: createClient(OrderService, transport),
    payments: createClient(PaymentService, transport),
    notifications: createClient(NotificationService, transport),
  };
}
