import { invalid, isNonEmptyString, isRecord, OK, type Verdict } from './shape.js';

// The template_card hard limits from WeCom's robot docs. Every violation is 40058; the documented
// 字-length recommendations are not enforced because WeCom truncates rather than refuses.
// Each check returns a problem description, or undefined when that part is fine.
type Problem = string | undefined;

export function checkTemplateCard(card: Record<string, unknown>): Verdict {
  const problem = firstProblem([
    () => checkCardType(card),
    () => checkCardAction(card.card_action),
    () => (card.card_type === 'text_notice' ? checkTextNotice(card) : checkNewsNotice(card)),
    () => checkHorizontalContent(card.horizontal_content_list),
    () => checkTitledList(card.jump_list, 'jump_list', 3),
    () => checkTitledList(card.vertical_content_list, 'vertical_content_list', 4),
    () => checkSource(card.source),
    () => checkImageTextArea(card.image_text_area),
  ]);
  return problem ? invalid(`template_card.${problem}`) : OK;
}

function firstProblem(checks: Array<() => Problem>): Problem {
  for (const check of checks) {
    const problem = check();
    if (problem) return problem;
  }
  return undefined;
}

function checkCardType(card: Record<string, unknown>): Problem {
  return card.card_type === 'text_notice' || card.card_type === 'news_notice' ? undefined : 'card_type invalid';
}

function checkCardAction(action: unknown): Problem {
  if (!isRecord(action)) return 'card_action missing';
  if (action.type === 1) return isNonEmptyString(action.url) ? undefined : 'card_action.url missing';
  if (action.type === 2) return isNonEmptyString(action.appid) ? undefined : 'card_action.appid missing';
  return 'card_action.type invalid';
}

function checkTextNotice(card: Record<string, unknown>): Problem {
  const title = card.main_title;
  if (!isRecord(title)) return 'main_title missing';
  return isNonEmptyString(title.title) || isNonEmptyString(card.sub_title_text)
    ? undefined
    : 'main_title.title or sub_title_text required';
}

function checkNewsNotice(card: Record<string, unknown>): Problem {
  const title = card.main_title;
  if (!isRecord(title) || !isNonEmptyString(title.title)) return 'main_title.title missing';
  const image = card.card_image;
  if (!isRecord(image) || !isNonEmptyString(image.url)) return 'card_image.url missing';
  const ratio = image.aspect_ratio;
  if (ratio === undefined) return undefined;
  return typeof ratio === 'number' && ratio >= 1.3 && ratio <= 2.25 ? undefined : 'card_image.aspect_ratio out of range 1.3-2.25';
}

// type: absent or 0 plain text, 1 link, 2 attachment, 3 @member; each needs its own field.
const HORIZONTAL_FIELD: Record<number, string> = { 1: 'url', 2: 'media_id', 3: 'userid' };

function checkHorizontalContent(list: unknown): Problem {
  return checkList(list, 'horizontal_content_list', 6, (item) => {
    if (!isNonEmptyString(item.keyname)) return 'keyname missing';
    if (item.type === undefined || item.type === 0) return undefined;
    const field = typeof item.type === 'number' ? HORIZONTAL_FIELD[item.type] : undefined;
    if (!field) return 'type invalid';
    return isNonEmptyString(item[field]) ? undefined : `${field} missing`;
  });
}

function checkTitledList(list: unknown, name: string, max: number): Problem {
  return checkList(list, name, max, (item) => (isNonEmptyString(item.title) ? undefined : 'title missing'));
}

/** An optional array of objects, at most `max` long, each passing `checkItem`. */
function checkList(list: unknown, name: string, max: number, checkItem: (item: Record<string, unknown>) => Problem): Problem {
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) return `${name} must be an array`;
  if (list.length > max) return `${name} exceed max size ${max}`;
  for (const [index, item] of list.entries()) {
    const problem = isRecord(item) ? checkItem(item) : 'must be an object';
    if (problem) return `${name}[${index}].${problem}`;
  }
  return undefined;
}

function checkSource(source: unknown): Problem {
  if (source === undefined) return undefined;
  if (!isRecord(source)) return 'source must be an object';
  const color = source.desc_color;
  if (color === undefined) return undefined;
  return typeof color === 'number' && Number.isInteger(color) && color >= 0 && color <= 3 ? undefined : 'source.desc_color out of range 0-3';
}

function checkImageTextArea(area: unknown): Problem {
  if (area === undefined) return undefined;
  return isRecord(area) && isNonEmptyString(area.image_url) ? undefined : 'image_text_area.image_url missing';
}
