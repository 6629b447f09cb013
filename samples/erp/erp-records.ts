/**
 * The sample ERP's answers, in the shape the MCP tools return them, and `ErpError`: a failure the
 * caller can fix (unknown id, forbidden transition, stock below zero), with a stable `code`.
 *
 * @example
 * throw new ErpError('NOT_FOUND', 'No customer with id 9. Use search_customers to find the id.');
 */
import type { InvoiceStatus } from './seed-data.js';

export type ErpErrorCode = 'NOT_FOUND' | 'CONFLICT' | 'INVALID';

/** A failure the caller can act on; `message` says what to do. */
export class ErpError extends Error {
  readonly code: ErpErrorCode;
  constructor(code: ErpErrorCode, message: string) {
    super(message);
    this.name = 'ErpError';
    this.code = code;
  }
}

export interface CustomerSummary {
  id: number;
  name: string;
  company: string;
  email: string;
  city: string;
  country: string;
}

export interface CustomerDetail extends CustomerSummary {
  phone: string;
  cardNumber: string;
  iban: string;
  address: { street: string; postalCode: string; city: string; country: string };
  currency: string;
  createdAt: string;
  invoices: { total: number; open: number; overdue: number; outstanding: number };
}

export interface InvoiceLine {
  sku: string;
  description: string;
  quantity: number;
  unitPrice: number;
  total: number;
}

export interface InvoiceDetail {
  invoiceNumber: string;
  status: InvoiceStatus;
  issueDate: string;
  dueDate: string;
  currency: string;
  amount: number;
  customer: { id: number; name: string; company: string; email: string };
  lines: InvoiceLine[];
  history: { from: string; to: string; reason: string; at: string }[];
}

export interface InventoryItem {
  sku: string;
  name: string;
  quantity: number;
  reorderLevel: number;
  unitPrice: number;
  location: string;
  lowStock: boolean;
  updatedAt: string;
}

export interface StatusChange {
  invoiceNumber: string;
  previousStatus: InvoiceStatus;
  status: InvoiceStatus;
  reason: string;
  updatedAt: string;
}

export interface StockChange {
  sku: string;
  previousQuantity: number;
  quantity: number;
  lowStock: boolean;
}

export interface DailyReport {
  generatedAt: string;
  customers: number;
  invoices: Record<InvoiceStatus, number>;
  outstanding: { currency: string; amount: number }[];
  lowStockSkus: string[];
}
